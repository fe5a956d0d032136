"""The bars family: raw, validated and quarantined bars, their checks, alerts and the ticker sensor."""
