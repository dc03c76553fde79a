"""``python -m jinit``: print the catalogue of every initializer."""

from jinit._catalogue import catalogue


def main() -> None:
    print(catalogue())


if __name__ == "__main__":
    main()
