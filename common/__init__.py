"""The floor: what every stage may import (time claims, and soon settings, errors and storage)."""
