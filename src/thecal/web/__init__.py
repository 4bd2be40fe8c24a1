"""The clinic web app: server-rendered Jinja2 pages with plain HTML forms (no JavaScript
needed), mounted with the JSON API. An entry point: it may do I/O."""
