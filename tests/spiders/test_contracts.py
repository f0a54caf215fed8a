"""Every callback documents itself with Scrapy contracts that `scrapy check` can build."""

from __future__ import annotations

import pytest
from scrapy.contracts import ContractsManager
from scrapy.settings import Settings
from scrapy.utils.misc import load_object

from spiders.sources.atla import AtlaSpider
from spiders.sources.diu import DiuSpider
from spiders.sources.jstage import JstageSpider
from spiders.sources.kaken import KakenSpider
from spiders.sources.nato_diana import NatoDianaSpider
from spiders.sources.openalex import OpenalexSpider

SPIDERS = [OpenalexSpider, JstageSpider, KakenSpider, AtlaSpider, DiuSpider, NatoDianaSpider]


@pytest.fixture(scope="module")
def manager() -> ContractsManager:
    settings = Settings()
    contracts = settings.getwithbase("SPIDER_CONTRACTS")
    return ContractsManager(load_object(c) for c in contracts)


@pytest.mark.parametrize("spider_cls", SPIDERS, ids=lambda c: c.name)
def test_callbacks_have_buildable_contracts(manager: ContractsManager, spider_cls: type) -> None:
    spider = spider_cls()
    methods = manager.tested_methods_from_spidercls(spider_cls)
    assert "parse" in methods
    for name in methods:
        request = manager.from_method(getattr(spider, name), {})
        assert request is not None, name
        host = request.url.split("/")[2]
        assert any(host == d or host.endswith("." + d) for d in spider_cls.allowed_domains), request.url


@pytest.mark.parametrize("spider_cls", SPIDERS, ids=lambda c: c.name)
def test_name_domains_and_public_base_url(spider_cls: type) -> None:
    assert spider_cls.__module__ == f"spiders.sources.{spider_cls.name}"
    assert spider_cls.base_url.startswith("https://")
    assert spider_cls.base_url.split("/")[2] in spider_cls.allowed_domains
