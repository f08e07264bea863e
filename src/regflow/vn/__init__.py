"""Vietnamese data as it really is: names and their tone marks, phone numbers, dates of
birth, CMND/CCCD numbers and provinces, and the records BHXH holds. Public as
`regflow.normalise_name`, `regflow.place_tone_marks`, `regflow.normalise_phone` and
`regflow.normalise_record`; the flows' rules use the rest."""
