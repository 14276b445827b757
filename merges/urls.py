from django.urls import path

from merges import views

app_name = "merges"

MR = "repos/<slug:slug>/merge-requests/<int:number>/"

urlpatterns = [
    path("repos/<slug:slug>/merge-requests/", views.merge_request_list, name="list"),
    path("repos/<slug:slug>/search/", views.search, name="search"),
    path("me/", views.profile, name="profile"),
    path("repos/<slug:slug>/merge-requests/new/", views.merge_request_new, name="new"),
    path(MR, views.detail, name="detail"),
    path(MR + "commits/", views.commits, name="commits"),
    path(MR + "changes/", views.changes, name="changes"),
    path(MR + "migration/", views.migration, name="migration"),
    path(MR + "preview/", views.preview_fragment, name="preview"),
    path(MR + "conflicts/", views.conflicts, name="conflicts"),
    path(MR + "conflicts/resolve/", views.resolve, name="resolve"),
    path(MR + "conflicts/open/", views.conflicts_open, name="conflicts_open"),
    path(MR + "conflicts/data/", views.data_conflicts, name="data_conflicts"),
    path(MR + "conflicts/data/resolve/", views.data_resolve, name="data_resolve"),
    path(MR + "conflicts/data/<int:resolution_id>/remove/", views.data_unresolve, name="data_unresolve"),
    path(MR + "comment/", views.comment, name="comment"),
    path(MR + "comments/<int:comment_id>/resolve/", views.resolve_thread, name="resolve_thread"),
    path(MR + "comments/<int:comment_id>/apply-suggestion/", views.apply_suggestion, name="apply_suggestion"),
    path(MR + "review/", views.review, name="review"),
    path(MR + "reviewers/", views.request_review, name="request_review"),
    path(MR + "reviewers/remove/", views.remove_review_request, name="remove_review_request"),
    path(MR + "merge/", views.merge, name="merge"),
    path(MR + "close/", views.close, name="close"),
    path(MR + "reopen/", views.reopen, name="reopen"),
    path(MR + "edit/", views.edit, name="edit"),
    path(MR + "draft/", views.draft, name="draft"),
    path(MR + "labels/", views.set_labels, name="set_labels"),
    path(MR + "assignees/", views.set_assignees, name="set_assignees"),
    path("repos/<slug:slug>/labels/new/", views.label_create, name="label_create"),
    path("repos/<slug:slug>/labels/edit/", views.label_edit, name="label_edit"),
    path(MR + "auto-merge/", views.auto_merge, name="auto_merge"),
    path(MR + "abort/", views.abort, name="abort"),
    path(MR + "restore-branch/", views.restore_branch, name="restore_branch"),
    path(MR + "retarget/", views.retarget, name="retarget"),
]
