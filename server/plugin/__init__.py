"""The low-code plugin: manifests per platform, intake adapters for each platform's push,
form export in each platform's shape, and Excel import for teams without integration."""
