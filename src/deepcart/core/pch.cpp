// Anchor for the precompiled header target; see CMakeLists.txt.
