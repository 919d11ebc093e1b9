"""Provider instrumentors: each declares what to patch and how to read its SDK's objects."""
