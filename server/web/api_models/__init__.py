"""The API's request and response models (pydantic), one module per area of routes; each
route's `@contract(...)` (server/web/contract.py) names the ones it takes and answers."""
