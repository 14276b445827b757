"""URLs of the merge request endpoints, relative to /api/v1/ (``api/urls.py`` includes them through
``merges.api.urlpatterns``)."""

from django.urls import path

from merges.api import (Abort, ApplySuggestion, AutoMerge, Changes, Close, Comments, Commits, Conflicts, Conversation,
                        DataConflicts, DataResolution, DataResolve, Draft, LabelDetail, Labels, Merge,
                        MergeRequestAssignees, MergeRequestDetail, MergeRequestLabels, MergeRequestList, Migration,
                        Reopen, Resolve, ResolveThread, RestoreBranch, Reviewer, Reviewers, Reviews, Search)

LIST = "repositories/<slug:slug>/merge-requests/"
MR = LIST + "<int:number>/"

urlpatterns = [
    path("repositories/<slug:slug>/labels/", Labels.as_view(), name="labels"),
    path("repositories/<slug:slug>/labels/<path:name>/", LabelDetail.as_view(), name="label"),
    path("repositories/<slug:slug>/search/", Search.as_view(), name="search"),
    path(LIST, MergeRequestList.as_view(), name="merge_requests"),
    path(MR, MergeRequestDetail.as_view(), name="merge_request"),
    path(MR + "draft/", Draft.as_view(), name="merge_request_draft"),
    path(MR + "close/", Close.as_view(), name="merge_request_close"),
    path(MR + "reopen/", Reopen.as_view(), name="merge_request_reopen"),
    path(MR + "conversation/", Conversation.as_view(), name="merge_request_conversation"),
    path(MR + "commits/", Commits.as_view(), name="merge_request_commits"),
    path(MR + "changes/", Changes.as_view(), name="merge_request_changes"),
    path(MR + "migration/", Migration.as_view(), name="merge_request_migration"),
    path(MR + "reviews/", Reviews.as_view(), name="merge_request_reviews"),
    path(MR + "reviewers/", Reviewers.as_view(), name="merge_request_reviewers"),
    path(MR + "reviewers/<str:username>/", Reviewer.as_view(), name="merge_request_reviewer"),
    path(MR + "comments/", Comments.as_view(), name="merge_request_comments"),
    path(MR + "comments/<int:comment_id>/resolve/", ResolveThread.as_view(), name="merge_request_comment_resolve"),
    path(MR + "labels/", MergeRequestLabels.as_view(), name="merge_request_labels"),
    path(MR + "assignees/", MergeRequestAssignees.as_view(), name="merge_request_assignees"),
    path(MR + "comments/<int:comment_id>/apply-suggestion/", ApplySuggestion.as_view(),
         name="merge_request_comment_apply_suggestion"),
    path(MR + "auto-merge/", AutoMerge.as_view(), name="merge_request_auto_merge"),
    path(MR + "merge/", Merge.as_view(), name="merge_request_merge"),
    path(MR + "conflicts/", Conflicts.as_view(), name="merge_request_conflicts"),
    path(MR + "conflicts/resolve/", Resolve.as_view(), name="merge_request_resolve"),
    path(MR + "data-conflicts/", DataConflicts.as_view(), name="merge_request_data_conflicts"),
    path(MR + "data-conflicts/resolve/", DataResolve.as_view(), name="merge_request_data_resolve"),
    path(MR + "data-conflicts/resolutions/<int:resolution_id>/", DataResolution.as_view(),
         name="merge_request_data_resolution"),
    path(MR + "abort/", Abort.as_view(), name="merge_request_abort"),
    path(MR + "restore-branch/", RestoreBranch.as_view(), name="merge_request_restore_branch"),
]
