"""The five Learning 2 Innovate units: content as data, loading and validation. No Flask here."""
