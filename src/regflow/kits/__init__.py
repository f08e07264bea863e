"""Reusable steps that flows compose: `regflow.kits.otp` (the OTP challenge) and
`regflow.kits.password` (the password step)."""
