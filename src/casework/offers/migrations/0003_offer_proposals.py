# Offers an agent or the chat bot proposed to a customer, to answer in the portal.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0007_open_cases_by_queue'),
        ('customers', '0004_contract_data_usage_gb'),
        ('offers', '0002_decisions_reasons_propensity'),
    ]

    operations = [
        migrations.CreateModel(
            name='OfferProposal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('proposed_by', models.CharField(max_length=200, verbose_name='proposed by')),
                ('channel', models.CharField(choices=[('phone', 'phone'), ('email', 'e-mail'), ('chat', 'chat'), ('portal', 'portal'), ('letter', 'letter'), ('partner', 'sales partner'), ('sms', 'SMS'), ('api', 'API'), ('note', 'internal note')], max_length=20, verbose_name='channel')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='proposed at')),
                ('status', models.CharField(choices=[('open', 'open'), ('accepted', 'accepted'), ('declined', 'declined'), ('withdrawn', 'withdrawn')], default='open', max_length=10, verbose_name='status')),
                ('answered_at', models.DateTimeField(blank=True, null=True, verbose_name='answered at')),
                ('case', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='cases.case', verbose_name='case')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='offer_proposals', to='customers.customer', verbose_name='customer')),
                ('decision', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='offers.offerdecision', verbose_name='decision')),
                ('offer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='proposals', to='offers.offer', verbose_name='offer')),
            ],
            options={
                'verbose_name': 'offer proposal',
                'verbose_name_plural': 'offer proposals',
                'ordering': ['-created_at', '-pk'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'open')), fields=('customer', 'offer'), name='offer_proposal_open_once')],
            },
        ),
    ]
