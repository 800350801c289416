from rest_framework.routers import SimpleRouter

from customers.api import views

router = SimpleRouter()
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("cases", views.CaseViewSet, basename="case")
router.register("notes", views.NoteViewSet, basename="note")

urlpatterns = router.urls
