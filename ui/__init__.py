"""The chat page, installed as ``rag.ui`` (this folder is mapped there by ``pyproject.toml``).

- ``app``: the Gradio page, a thin shell (``build_app``, ``launch_app``)
- ``view``: what the page shows, as pure functions over ``Answer`` (no gradio import)
- ``strings``: the page's words in Italian and English, example questions, answer lengths
- ``app.css``: the page's styles

``rag ui`` starts it; ``import rag.ui.view`` is cheap (gradio loads only with ``rag.ui.app``).
"""
