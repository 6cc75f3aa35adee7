"""How the page is served: its look (``theme``, the stylesheet ``CSS``), and one queue, whether on its own
server (``launch_app``, ``rag ui``) or mounted beside the HTTP API (``mount_app``, ``rag serve``). Either way
a request's files are read only if a client uploaded them (``_uploads_only``). With a login, wrong ones are
throttled (``rag.logins.LoginThrottle``) and gradio's one route that answered without it is guarded
(``SessionRequired``). Gradio is imported only when called: it is already loaded by then
(``rag.ui.app`` builds the page and turns its telemetry off first).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rag.ui import tools

from rag.logins import LoginThrottle, Throttle

if TYPE_CHECKING:
    import gradio as gr

CSS = (Path(__file__).parent / "app.css").read_text(encoding="utf-8")  # the page's own styles


def theme():
    import gradio as gr

    # System fonts: the default theme fetches Google Fonts, which an offline machine cannot reach.
    return gr.themes.Soft(
        primary_hue="blue",
        font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def launch_app(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = None,
    block: bool = True,
    throttle: Throttle | None = None,
    **kwargs,
):
    """Start the server. Requests wait in one queue, so several people chatting at once take turns. With a
    login (``auth``), a client that keeps sending wrong ones must wait (``throttle``, a new one by default)."""
    if kwargs.get("auth"):
        from starlette.middleware import Middleware

        middleware = [Middleware(LoginThrottle, throttle=throttle or Throttle()), Middleware(SessionRequired)]
        kwargs["app_kwargs"] = {**kwargs.get("app_kwargs", {}), "middleware": middleware}
    return _queued(demo).launch(
        server_name=host, server_port=port, prevent_thread_lock=not block, show_error=True, **_look(), **kwargs
    )


def mount_app(app, demo: gr.Blocks, path: str = "/", throttle: Throttle | None = None, **kwargs):
    """Mount the page on the ASGI ``app`` (``rag serve``: beside the HTTP API), queued and styled as above;
    ``kwargs`` go to gradio (``auth``, ``max_file_size``), and wrong logins are throttled, as with
    ``launch_app`` (pass the API's ``throttle`` to share one count)."""
    import gradio as gr

    if kwargs.get("auth"):
        login = path.rstrip("/") + "/login"
        app.add_middleware(LoginThrottle, throttle=throttle or Throttle(), paths=(login, login + "/"))
        app.add_middleware(SessionRequired, prefix=path.rstrip("/"))
    return gr.mount_gradio_app(app, _queued(demo), path=path, **_look(), **kwargs)


def _queued(demo: gr.Blocks) -> gr.Blocks:
    demo.queue(default_concurrency_limit=1, max_size=64)
    return _uploads_only(demo)


def _uploads_only(demo: gr.Blocks) -> gr.Blocks:
    """Read only files a client uploaded, however the page is served.

    Gradio refuses an input file outside its upload folder ("was not uploaded by a user") only once the page
    has launched: its ``has_launched`` flag, which ``Blocks.launch`` sets and ``mount_gradio_app`` does not. A
    mounted page (``rag serve``) indexed any server file a request named through ``/gradio_api/call``, ``/run``
    or the queue. Mounted is served too, so the flag is set here; and the page's upload handler checks the folder
    itself (``Uploads.folder``), should gradio's check ever change.
    """
    from gradio.utils import get_upload_folder

    demo.has_launched = True
    controller = getattr(demo, "controller", None)  # rag.ui.app.build_app's page; a bare Blocks has none
    if controller is not None:
        controller.uploads.folder = Path(get_upload_folder()).resolve()
    return demo


def _look() -> dict:
    """The theme, stylesheet and script, as ``Blocks.launch`` and ``mount_gradio_app`` both take them."""
    return {"theme": theme(), "css": CSS, "js": tools.SCROLL_JS, "footer_links": []}


class SessionRequired:
    """ASGI middleware for a page with a login: gradio answers its ``heartbeat`` route (a stream held open as long
    as the client likes) without one, so anyone could hold connections open. Such a request is answered 401
    unless gradio's own ``login_check`` accepts its cookies. Other requests pass untouched."""

    def __init__(self, app, prefix: str = ""):
        self.app = app
        self.heartbeat = f"{prefix}/gradio_api/heartbeat/"
        self.login_check = f"{prefix}/gradio_api/login_check"

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.heartbeat) and not await self._logged_in(scope):
            from starlette.responses import JSONResponse

            refused = JSONResponse({"detail": {"error": "Not authenticated"}}, status_code=401)
            return await refused(scope, receive, send)
        return await self.app(scope, receive, send)

    async def _logged_in(self, scope) -> bool:
        """Whether gradio's ``login_check`` answers 200 to a GET with this request's headers (its cookies)."""
        path = self.login_check
        check = {**scope, "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b""}
        status = []

        async def nothing():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def read(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await self.app(check, nothing, read)
        return status == [200]
