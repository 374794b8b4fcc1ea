"""System packages: the native libraries and distribution-owned Python packages a kernel needs beyond its wheels.

``elf`` reads what each extension module links against, ``owners`` asks the host's package
manager who owns those files, ``capture`` puts both into the capsule's ``[system]`` table and
``apt.txt``, and ``debs`` fetches the exact ``.deb`` files a build installs offline.
"""
