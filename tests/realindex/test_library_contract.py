"""The library contract the screens rely on (tests/web/test_library_contract.py), checked on the real library.

The contract's tests are imported unchanged; only their `impl` fixture is replaced by the real index.
"""

from __future__ import annotations

import pytest

from tests.web.test_library_contract import (  # noqa: F401 - collected here against the real library
    test_all_matches_respects_the_per_need_limit,
    test_is_a_library,
    test_needs_documents_and_matches,
    test_organization_profile,
    test_search_filters_hold,
    test_search_is_ranked_limited_and_faceted,
)


@pytest.fixture(scope="module")
def impl(real_library):
    return real_library
