"""Views of the agent desktop, one module per screen family. Each view parses its input
with a form, loads named objects through accessors, calls at most one service and renders
a page or an htmx partial."""
