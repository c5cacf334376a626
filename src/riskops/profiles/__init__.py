"""Reference profiles: what a version was trained on, stored with it and signed.

    profile.py  build, serialise, parse and validate ``reference-profile.json``
    text.py     a text feature against the model's vocabulary: terms, OOV rate, top terms

Below ``training`` and ``monitoring`` (layer 1, pure, no I/O): training
writes a profile, monitoring reads it; neither imports the other for it.
"""
