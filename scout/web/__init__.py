"""The web app (`scout serve`): pages, JSON API and offline API docs over a `service.library.Library`."""
