"""One router per resource; each module holds the JSON API and its pages side by side."""
