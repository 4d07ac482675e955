"""The Streamlit app's pages (run by app.py through st.navigation) and their helpers (the ``_`` modules)."""
