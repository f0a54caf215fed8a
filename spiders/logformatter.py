"""Log dropped items by their reason only: the full record is already in the rejects log or the state."""

from __future__ import annotations

from scrapy.logformatter import LogFormatter


class ScoutLogFormatter(LogFormatter):
    def dropped(self, item, exception, response, spider):
        entry = super().dropped(item, exception, response, spider)
        entry["msg"] = "Dropped: %(exception)s"
        return entry
