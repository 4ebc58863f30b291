"""One module per chapter that needs one, named after the chapter's slug (the file name without
its number): ``chapters/download_tokens.py`` belongs to ``book/40_download_tokens.ipynb``.

A chapter module may import the lab and the recommended code, never another chapter's module.
"""
