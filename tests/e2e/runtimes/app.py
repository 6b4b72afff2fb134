"""The Python function of the false-positive test: waitress (WSGI), a backend over HTTP."""
import os
import urllib.request

from waitress import serve


def app(environ, start_response):
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path == "/" and method == "GET":
        body, status = b"hello from python\n", "200 OK"
    elif path == "/echo" and method == "POST":
        n = len(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        body, status = f"{n} bytes\n".encode(), "200 OK"
    elif path == "/backend":
        try:
            with urllib.request.urlopen(f"http://{os.environ['BACKEND']}/", timeout=5) as r:
                body, status = r.read(), "200 OK"
        except OSError as e:
            body, status = f"backend: {e}\n".encode(), "502 Bad Gateway"
    else:
        body, status = b"not found\n", "404 Not Found"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


serve(app, host="127.0.0.1", port=int(os.environ["PORT"]), threads=4, _quiet=True)
