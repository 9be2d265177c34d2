"""The gateway's work, one module per subject: which service answers a path (routing), passing
requests on (proxy, over the in-process transport in embedded mode), the merged OpenAPI, and
the services' health."""
