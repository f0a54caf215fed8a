"""One spider per source (`spiders/sources/<name>.py`); `scrapy list` shows them all."""
