"""gunicorn's settings for this app, read from the working directory when gunicorn starts
there (``.venv/bin/gunicorn -w 2 -b 0.0.0.0:8050 wsgi:server`` from the repository).

Addresses carry their page's whole view (see ``indicators/view.py``): a download or page
with every indicator of the store ticked lists every id in ``ind=``, about 8.4 KB for the
curated store's 246 indicators and 11 KB for the benchmark's 1,000. gunicorn's default
request line of 4,094 bytes answered such an address with 414 (about 150 ids), and its
highest bound, 8,190 bytes, is still too short; its only larger setting is no bound at all.
So the bound is raised here, to 32 KiB: about three times the largest address this app
writes today (1,000 ids), and still a bound, so a client cannot make a worker buffer a
request line of any size. Headers get the same room (a page's own requests send its
address as ``Referer``). Longer addresses are refused by gunicorn with 400 before the
app sees them; the README says so and points to ``family=``.

A worker silent for ``timeout`` seconds is killed and restarted. gunicorn's 30 s killed the
whole-store Excel download at 400,000 rows (about 25 s of one core now, written in SQL, and
more when both cores are busy); an Excel file holds at most 1,048,575 rows, about two and a
half times that, so a worker writing one gets 120 s. The CSV and JSON stream as they go.
"""
import gunicorn.http.message as _message

# The request line: method, address and protocol.
ADDRESS_BYTES = 32 * 1024
# gunicorn clamps limit_request_line to this module constant (8,190); raise the clamp to the
# bound chosen above (tests/test_gunicorn_limits.py fails if an upgrade stops honouring it).
_message.MAX_REQUEST_LINE = max(_message.MAX_REQUEST_LINE, ADDRESS_BYTES)

limit_request_line = ADDRESS_BYTES
limit_request_field_size = ADDRESS_BYTES + 1024  # Referer: the address with scheme and host
limit_request_fields = 100  # gunicorn's default count of header fields, kept

timeout = 120  # seconds: the largest Excel download a worksheet can hold, on a busy machine
