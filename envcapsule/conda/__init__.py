"""Conda environments: conda-meta records locked into conda-lock.yml and rebuilt exactly in the image.

``lockfile`` writes and reads conda-lock.yml (conda-lock's unified format, version 1), the
explicit ``conda-<platform>.lock`` and a pinned ``environment.yml``; ``fetch`` brings the
locked package files into the host's content-addressed cache; ``plan``, ``installer_env`` and
``context`` put them into an image, where py-rattler installs them with no channel and no solver.
"""
