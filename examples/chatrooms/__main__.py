"""Run the chatrooms: ``python -m examples.chatrooms [--port 8000]``.

Uses ``MONGODB_URI`` when set, else an embedded SecantusDB (data in a
temporary directory, gone when the server stops). Open the printed URL in
two browser windows and chat: ``/?user=alice`` in one (she is a member of the
private room ``staff``) and ``/?user=bob`` in the other (he does not see it).
The name is a demo identity, believed as sent (see ``examples.chatrooms.app``).
"""

from __future__ import annotations

import argparse
from typing import Any

from examples.chatrooms.app import create_app, seed
from tbone.testing.embedded_db import embedded_mongo, make_client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    with embedded_mongo() as uri:
        client = make_client(uri)
        db = client["chatrooms"]
        app = create_app(db, name="chatrooms")

        @app.before_server_start
        async def prepare(app: Any) -> None:
            await seed(db)
            url = f"http://{options.host}:{options.port}/"
            print(f"chatrooms: {url}?user=alice  (and {url}?user=bob in another window)", flush=True)

        app.run(host=options.host, port=options.port, single_process=True, access_log=False)


if __name__ == "__main__":
    main()
