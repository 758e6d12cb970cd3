"""The Streamlit app: `streamlit run ui/app.py`. A thin layer over assistant/ and ingest/."""
