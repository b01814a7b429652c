"""The dashboard for a multi-worker WSGI server (``python app.py`` serves one process only):

    .venv/bin/gunicorn -w 2 -k gthread --threads 4 -b 0.0.0.0:8050 wsgi:server

<<<<<<< HEAD
on two cores (README, "Performance", says why). Each worker creates the app (the first one to start builds the store if there is none);
with ``PKPI_WATCH=1`` each also starts a drop-folder watcher, of which one works at a time.
=======
Each worker creates the app (the first one to start builds the store if there is none);
each also starts a drop-folder watcher (unless ``PKPI_WATCH=0``), of which one works at a time.
>>>>>>> 4e372d0 (Read the inbox by default (PKPI_WATCH=1): app.py and every gunicorn worker make the drop folders and start the elected watcher (data/watcher.py, moved out of dropbox.py), which writes who it is and when it last looked into its lock file; the Updates page HTML moves to layouts/ (callbacks import layouts only), says whether and by whom the inbox is read, why a file waits, lists withdrawals, offers a withdrawal request per accepted file, and names areas and indicators in the reader's language; README and settings test for the new default)
Each worker warms up before it takes requests (``app.warm_up``).
"""
from app import create_app, warm_up
from data.watcher import serve_dropbox

app = create_app()
warm_up(app)
serve_dropbox()
server = app.server
