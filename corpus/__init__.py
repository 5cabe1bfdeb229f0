"""Reading and splitting news articles: files, feeds and URLs in, `Article` and `Passage` out."""

from corpus.errors import CorpusError, FetchError, NewsqaError
from corpus.types import Article, ArticleInfo, Passage

__all__ = ["Article", "ArticleInfo", "CorpusError", "FetchError", "NewsqaError", "Passage"]
