"""A Django host of regflow: the portal's own accounts table is regflow's `UserStore`.

`settings` and `urls` make the project; the `django_portal` app holds the accounts
(`models`, `users.DjangoUserStore`), the composition root (`wiring`) and one view per screen
of the BHXH registration (`views`). Nothing here imports Django models at import time, so the
settings may name `config.PortalSettings`.
"""
