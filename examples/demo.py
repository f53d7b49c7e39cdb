"""``make demo``: run the main example."""

from examples.odm_tour import main

if __name__ == "__main__":
    main()
