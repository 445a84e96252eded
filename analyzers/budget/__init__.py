"""Answers within a budget: the token estimator, fitting a JSON answer within
`maxTokens`, the budget levels, and the severity floor (`minSeverity`)."""
