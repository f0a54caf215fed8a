"""spiders/: Scrapy spiders that fetch and parse sources into `scout.models.Document` items."""
