from ninja import NinjaAPI

api = NinjaAPI(title="Casework API", version="1", urls_namespace="api")
