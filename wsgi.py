"""The dashboard for a multi-worker WSGI server (``python app.py`` serves one process only):

    .venv/bin/gunicorn -w 2 -b 0.0.0.0:8050 wsgi:server

on two cores (README, "Performance", says why). Each worker creates the app (the first one to
start builds the store if there is none); each also starts a drop-folder watcher (unless
``PKPI_WATCH=0``), of which one works at a time.
Each worker warms up before it takes requests (``app.warm_up``).
"""
from app import create_app, warm_up
from data.watcher import serve_dropbox

app = create_app()
warm_up(app)
serve_dropbox()
server = app.server
