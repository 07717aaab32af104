"""Posting a page's form as a browser would."""

from __future__ import annotations


def submit_form(client, url: str, changes: dict):
    """Post the form at ``url`` as a browser would: every field's current value (inputs,
    selects, text areas), with ``changes`` applied (unchecked checkboxes are left out, as
    browsers do)."""
    from html.parser import HTMLParser

    class FormParser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.values, self._select, self._first, self._textarea = {}, None, None, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
                if a.get("type") == "checkbox":
                    if "checked" in a:
                        self.values[name] = a.get("value", "y")
                else:
                    self.values[name] = a.get("value", "")
            elif tag == "textarea" and name:
                self._textarea = name
                self.values[name] = ""
            elif tag == "select" and name:
                self._select, self._first = name, None
            elif tag == "option" and self._select:
                if self._first is None:
                    self._first = a.get("value", "")
                    self.values.setdefault(self._select, self._first)
                if "selected" in a:
                    self.values[self._select] = a.get("value", "")

        def handle_data(self, data):
            if self._textarea:
                self.values[self._textarea] += data

        def handle_endtag(self, tag):
            if tag == "select":
                self._select = None
            elif tag == "textarea" and self._textarea:
                # Browsers drop the newline that may follow <textarea>.
                value = self.values[self._textarea]
                self.values[self._textarea] = value[1:] if value.startswith("\n") else value
                self._textarea = None

    page = client.get(url)
    assert page.status_code == 200, f"GET {url}: {page.status_code}"
    parser = FormParser()
    parser.feed(page.data.decode())
    data = {k: v for k, v in parser.values.items() if k != "csrf_token"}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(url, data=data)
