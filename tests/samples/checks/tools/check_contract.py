"""alpha's contract as skycheck relies on it: mean() of whole numbers is exact."""

import alpha

result = alpha.mean([1, 2])
print(f"alpha {alpha.__version__}: mean([1, 2]) = {result!r}")
assert result == 1.5, f"alpha.mean([1, 2]) should be 1.5, got {result!r}"
print("contract holds")
