"""Merge requests and their reviews.

Later: MergeRequest (source and target branch of a repository, author, state open ->
changes requested / approved -> merged or closed), Review and Comment, Approval (dismissed by
new commits on the source), ConflictResolution (base, source, target and the chosen result per
object) and BranchProtection (required approvals). Merges themselves run in the engine.
"""
