"""The chat page, installed as ``rag.ui`` (this folder is mapped there by ``pyproject.toml``).

- ``app``: the Gradio page, a thin shell: its layout and event wiring (``build_app``); entry point of ``rag ui``
- ``controller``: the page's callbacks as plain methods (``ChatController``; no gradio import)
- ``server``: how the page is served: theme, stylesheet, ``launch_app`` (one queue)
- ``assistants``: the assistants kept one per model (least recently used freed), the indexes offered
- ``uploads``: articles added from the page, indexed apart from the questions, with limits and cancel
- ``tools``: filters, documents and delete, history kept in the browser, export (no gradio import)
- ``view``: what the page shows, as pure functions over ``Answer`` (no gradio import)
- ``strings``: the page's words in Italian and English, example questions, answer lengths
- ``app.css``: the page's styles

``rag ui`` starts it; ``import rag.ui.view`` is cheap (gradio loads only with ``rag.ui.app``).
"""
