"""Reading articles: files, web pages and feeds -> ``Document`` (text decoded by content, dateline read).
Imports only the core modules.
"""
