"""`python -m oversight`: the command line (oversight/cli/: one module per group of commands)."""

from oversight.cli.main import main

if __name__ == "__main__":
    main()
