"""The capacity benchmark of a site's working day: `make bench-site` (python -m edc.sitebench).

`prepare` builds (once, kept between runs) a PostgreSQL database with every seed study, the
demo and a cohort of demo subjects up to 1,000 or 10,000, with the production roles; `locustfile`
is the workload (Locust, headless); `__main__` serves the database with gunicorn and a Celery
worker connected as the application role, raises the number of simulated users step by step
until p95 passes 500 ms or a request fails, and prints the highest load that held.
"""
