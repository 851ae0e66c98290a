"""``python -m qcpt`` runs the command line."""

from qcpt.cli import main

main()
