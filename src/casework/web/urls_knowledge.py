"""URLs: the knowledge base. The help pages (`/help/`, public, no sign-in) and, on the case
screen, the suggested answers and their ratings."""

from django.urls import URLPattern, path

from casework.web.views import knowledge

urlpatterns: list[URLPattern] = [
    path("help/", knowledge.help_index, name="help"),
    path("help/<slug:code>/", knowledge.help_article, name="help_article"),
    path("cases/<int:case_id>/suggestions/", knowledge.case_suggestions, name="case_suggestions"),
    path(
        "cases/<int:case_id>/suggestions/ratings/",
        knowledge.suggestion_rating,
        name="suggestion_rating",
    ),
]
