"""Everything regflow derives from a flow's declaration, beside running it.

The static check, generated paths and transition coverage (public as `regflow.analysis`),
the scenario runner, fakes and pytest plugin (public as `regflow.testing`), the generated
docs, the `regflow` command and its demo. None of it is imported by the engine.
"""
