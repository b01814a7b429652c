"""The dashboard for a multi-worker WSGI server (``python app.py`` serves one process only):

    .venv/bin/gunicorn -w 2 -k gthread --threads 4 -b 0.0.0.0:8050 wsgi:server

on two cores (README, "Performance", says why). Each worker creates the app (the first one to start builds the store if there is none);
with ``PKPI_WATCH=1`` each also starts a drop-folder watcher, of which one works at a time.
Each worker warms up before it takes requests (``app.warm_up``).
"""
from app import create_app, warm_up

app = create_app()
warm_up(app)
server = app.server
